"""Posting admin change forms as a browser would: every field as the page rendered it."""

from typing import Any


def post_data(response: Any) -> dict[str, Any]:
    """The data a browser would post back from a rendered admin change (or add) page."""
    data: dict[str, Any] = {}
    rendered = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        rendered.extend(inline.formset.forms)
    for form in rendered:
        for name in form.fields:
            value = form[name].value()  # as rendered: JSON fields as JSON text
            if value is not None and value is not False:
                data[form.add_prefix(name)] = value
    return data
