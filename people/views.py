"""Pages about people: a guardian's family page, a teacher's classes, a student's record."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from audit.services import record_access
from core.perms import can
from core.scoping import get_scope
from org.selectors import breadcrumb, class_teacher_names
from people import contact, perms, selectors
from people.models import GRANDPARENT_RELATIONS

# Stored with each access row; audit data, so not translated.
REASON_VIEW_ID_NUMBER = "查看身份证号"
REASON_VIEW_IDENTITY = "查看身份证号和学籍号"
REASON_VIEW_STUDENT_NO = "查看学籍号"


@login_required
def family(request):
    """Mobile-first: one card per child, in whichever school they study."""
    user = request.user
    children = selectors.family_children(user)
    # Care mode is offered once to a grandparent (祖辈) who has not chosen yet; the choice is kept on the account.
    grandparent = any(link.relation in GRANDPARENT_RELATIONS for child in children for link in child.my_links)
    offer_care = grandparent and not user.care_mode and user.care_mode_chosen_at is None
    return render(
        request,
        "people/family.html",
        {"children": children, "is_guardian": bool(get_scope(user).guardian_id), "offer_care": offer_care},
    )


@login_required
def my_classes(request):
    classes = selectors.teacher_classes(request.user)
    return render(request, "people/my_classes.html", {"classes": classes})


@login_required
def student_detail(request, pk):
    user = request.user
    student = selectors.get_student_for(user, pk)
    # The 学籍号 is "G" + the ID number: both are shown in full only on request, one access-log row per showing.
    can_identity = can(user, perms.VIEW_IDENTITY, student)
    reveal = can_identity and request.GET.get("show") == "id"
    if reveal:
        reason = REASON_VIEW_IDENTITY if student.id_number else REASON_VIEW_STUDENT_NO
        record_access(user=user, obj=student, reason=reason)
    # Guardians' numbers: the class teacher's by default, a school admin's on request (people.contact).
    links = selectors.student_guardian_links(student)
    phones = contact.show(
        user, student, reveal=request.GET.get("show") == "phone", where="学生页", any_phone=any(g.guardian.phone for g in links)
    )
    context = {
        "student": student,
        "crumbs": breadcrumb(user, student.school_class) + [student.school_class],
        "links": links,
        "contact": phones.level,
        "phones_revealed": phones.revealed,
        "can_identity": can_identity,
        "reveal": reveal,
        "class_teachers": class_teacher_names([student.school_class_id]).get(student.school_class_id, []),
    }
    return render(request, "people/student_detail.html", context)


def class_roster_page(request, school_class):
    """A class's roster (org:class_roster, at org's URL; org fetched the class with people.view)."""
    user = request.user
    query = request.GET.get("q", "").strip()[:50]
    roster = selectors.roster_page(user, school_class, page=request.GET.get("page"), query=query)
    # Full numbers for the class teacher, one access row per view; others reveal a student's on its page.
    shown = [link.guardian.phone for s in roster.page.object_list for link in s.visible_links]
    phones = contact.show(user, school_class, where="花名册", any_phone=any(shown))
    return render(
        request,
        "org/class_roster.html",
        {
            "unit": school_class,
            "crumbs": [*breadcrumb(user, school_class), school_class],
            "roster": roster,
            "query": query,
            "full_contact": phones.full,
            "contact": phones.level,
            "can_invite": can(user, perms.MANAGE, school_class),
            "class_teachers": class_teacher_names([school_class.id]).get(school_class.id, []),
        },
    )
