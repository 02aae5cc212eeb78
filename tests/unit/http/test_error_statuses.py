"""Each family of the domain's errors (service/errors.py) answers one HTTP status, decided in service/http/errors.py."""

from __future__ import annotations

import pytest

from service import errors
from service.http.errors import STATUS, status_of
from service.labels.service import NothingToRollBack


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput, 400),
        (errors.Unauthorized, 401),
        (errors.Forbidden, 403),
        (errors.NotFound, 404),
        (errors.Duplicate, 409),
        (NothingToRollBack, 409),
        (errors.UnsupportedMediaType, 415),
        (errors.Unprocessable, 422),
        (errors.ProviderRateLimited, 429),
        (errors.ProviderError, 502),
        (errors.ProviderAuth, 502),
        (errors.DependencyUnavailable, 503),
        (errors.ProviderTimeout, 504),
    ],
)
def test_each_family_has_its_status(error, status):
    assert status_of(error("detail")) == status


def test_every_error_class_of_the_hierarchy_has_a_status():
    families = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, errors.PrompterError)]
    assert set(families) <= set(STATUS)


def test_a_subclass_written_with_its_own_status_keeps_it():
    class Gone(errors.NotFound):
        status, code = 410, "gone"

    assert status_of(Gone("detail")) == 410
