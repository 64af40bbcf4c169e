"""manage.py demo [--students N] [--seed S] [--if-empty]: every installed module's demo data, in order
(core.modules: each module.py names its demo builder). The district first (accounts' build_demo), then
what each module adds to it; every step is safe to run again."""

from django.core.management import call_command

from core.demo import DemoCommand
from core.modules import demo_steps


class Command(DemoCommand):  # refuses under production settings
    help = "Build the demo district and every installed module's demo data."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=3000, help="number of students (default 3000)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed builds the same district")
        parser.add_argument("--if-empty", action="store_true", help="build the district only when the database holds none yet")

    def handle(self, *args, **options):
        for step in demo_steps():
            kwargs = {name: options[name] for name in step.options}
            call_command(step.command, stdout=self.stdout, stderr=self.stderr, **kwargs)
