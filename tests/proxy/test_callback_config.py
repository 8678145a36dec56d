"""Callback settings come from the environment with safe defaults."""

from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig


def test_config_from_env() -> None:
    cfg = CallbackConfig.from_env(
        {
            "LUTHIEN_CONTROL_PLANE_URL": "https://cp.example:9000/",
            "LUTHIEN_FAIL_MODE": "OPEN",
            "LUTHIEN_CONTROL_PLANE_TIMEOUT": "2.5",
            "LUTHIEN_PROXY_TOKEN": "t",
        }
    )
    assert cfg.fail_open and cfg.timeout_s == 2.5 and cfg.ws_base_url == "wss://cp.example:9000"
    assert cfg.auth_headers() == {"x-luthien-proxy-token": "t"}
    default = CallbackConfig.from_env({})
    assert not default.fail_open and default.control_plane_url == "http://127.0.0.1:8081"
    assert default.auth_headers() == {}
