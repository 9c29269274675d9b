"""`up` creates the first administrator once and never touches an existing one."""

from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command


def test_it_creates_an_admin_once_and_prints_the_password(db, django_user_model) -> None:
    django_user_model.objects.filter(is_superuser=True).delete()  # as on a fresh database
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("admin / ")[1].split()[0]
    assert authenticate(username="admin", password=password).is_superuser

    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""
    assert authenticate(username="admin", password=password) is not None
