"""{% can perm [obj] %} … {% else %} … {% endcan %}: the template's one way to ask a permission
(core.perms.can on the request's user). perm is a code string or a Perm in the context."""

from django import template

from core.perms import can as user_can

register = template.Library()


class CanNode(template.Node):
    def __init__(self, perm, obj, yes, no):
        self.perm, self.obj, self.yes, self.no = perm, obj, yes, no

    def render(self, context):
        request = context.get("request")
        user = context.get("user") or getattr(request, "user", None)
        perm = self.perm.resolve(context)
        obj = self.obj.resolve(context) if self.obj is not None else None
        allowed = user is not None and user_can(user, perm, obj)
        return self.yes.render(context) if allowed else self.no.render(context)


@register.tag("can")
def do_can(parser, token):
    bits = token.split_contents()
    if len(bits) not in (2, 3):
        raise template.TemplateSyntaxError("usage: {% can perm [obj] %} … {% else %} … {% endcan %}")
    perm = parser.compile_filter(bits[1])
    obj = parser.compile_filter(bits[2]) if len(bits) == 3 else None
    yes = parser.parse(("else", "endcan"))
    token = parser.next_token()
    if token.contents == "else":
        no = parser.parse(("endcan",))
        parser.delete_first_token()
    else:
        no = template.NodeList()
    return CanNode(perm, obj, yes, no)
