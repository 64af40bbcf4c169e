from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from core.perms import requires
from tests.fakemodule.perms import USE


@login_required
@requires(USE)
def home(request):
    return HttpResponse("fake module home")
