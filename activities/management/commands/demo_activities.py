"""manage.py demo_activities: add activities, check-ins, family check-ins and parent-school courses to the
demo district (after build_demo). Safe to run again: a district that has activities is left alone."""

from django.core.management.base import CommandError

from core.demo import DemoCommand
from org.models import Kind, OrgUnit


class Command(DemoCommand):  # refuses under production settings
    help = "Add demo activities, campaigns and courses to the demo district."

    def add_arguments(self, parser):
        parser.add_argument("--district", help="district code (default: the first district)")

    def handle(self, *args, district=None, **options):
        from activities.demo import build

        # The parent school's demo runs here until modules declare their demo builders (the module contract).
        from courses.demo import build as build_courses

        qs = OrgUnit.objects.filter(kind=Kind.DISTRICT)
        target = qs.filter(code=district).first() if district else qs.order_by("id").first()
        if target is None:
            raise CommandError("没有找到区县，请先运行 build_demo。")
        build(target, out=self.stdout.write)
        build_courses(target, out=self.stdout.write)
