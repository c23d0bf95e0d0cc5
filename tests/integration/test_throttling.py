from types import SimpleNamespace

from workflows.api.throttling import UserRate


class BrokenCache:
    def get(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def set(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_requests_are_let_through_when_the_rate_limit_cache_is_down():
    throttle = UserRate()
    throttle.cache = BrokenCache()
    user = SimpleNamespace(is_authenticated=True, pk=1)
    request = SimpleNamespace(user=user, META={}, _request=None)
    assert throttle.allow_request(request, view=None) is True
