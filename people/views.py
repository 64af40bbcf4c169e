from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from people.models import Student


@login_required
def family(request):
    children = Student.objects.visible_to(request.user).select_related("school_class", "school")
    return render(request, "people/family.html", {"children": children})

