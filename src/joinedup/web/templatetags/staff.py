"""The header's staff tools: what the person's current role allows, asked of the policy."""

from django import template

from joinedup.identity import acting, console

register = template.Library()

#: The header holds the first tools in console order (daily work before the figures); the
#: console, linked first in the header, lists every tool the role allows.
HEADER_TOOLS = 6


@register.simple_tag(takes_context=True)
def staff_header(context: template.Context) -> list[console.Tool] | None:
    """The first staff tools for the header, or None for anyone who is not staff in this session
    (who then sees the citizen header). Kept on the request: one page asks once."""
    request = context.get("request")
    if request is None:
        return None
    cached = getattr(request, "_staff_header", False)
    if cached is not False:
        return cached
    acting_context = acting.for_request(request)
    tools = (
        console.tools_for(acting_context, limit=HEADER_TOOLS) if acting_context.is_staff else None
    )
    request._staff_header = tools
    return tools
