"""Settings of the user's app (app-settings.json) and tool exclusions of the user's (tools.toml).

The app declares its settings in a file of its own, which `copier update` never touches; the build
merges them with the runtime's (config.example.json, the template's) and the board validates both
with one validator. A wrong app value never wipes the other settings: not on the setup page, not
in `tools config`. One Wi-Fi rendering serves every test here but the one without Wi-Fi.
"""
import json
import shutil
import subprocess
import sys
import types
import urllib.request
from urllib.parse import urlencode

import pytest
from conftest import ROOT, render, sim_in_background, stubs_env

DECLARED = {
    "mqtt_server": {"type": "str", "default": "", "required": True, "help": "the broker's host name"},
    "mqtt_port": {"type": "int", "default": 1883, "min": 1, "max": 65535},
    "mqtt_token": {"type": "str", "default": "", "secret": True},
    "units": {"type": "str", "default": "metric", "choices": ["metric", "imperial"]},
    "ratio": {"type": "float", "default": 0.5},
    "verbose": {"type": "bool", "default": False},
}
TOKEN = "tok-5ecret-991"


def run(project, *args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", *args], cwd=project, capture_output=True, text=True, check=False,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    dst = tmp_path_factory.mktemp("rendered") / "proj"
    return render(dst, boards=["rp2_pico_w"], wifi_country="DE")


@pytest.fixture
def project(rendered, tmp_path):
    dst = tmp_path / "proj"
    shutil.copytree(rendered, dst)
    (dst / "app-settings.json").write_text(json.dumps(DECLARED, indent=2))
    return dst


def tools_of(project):
    """The project's tools package, imported from its folder (fresh for each project)."""
    for name in [m for m in sys.modules if m == "tools" or m.startswith(("tools.", "runtime"))]:
        del sys.modules[name]
    sys.path[:0] = [str(project), str(project / "device" / "lib")]
    try:
        from tools import build, config_cmd
    finally:
        del sys.path[:2]
    return types.SimpleNamespace(build=build, config_cmd=config_cmd)


def target_of(project, build=None):
    """The build's runtime/target and runtime/schema in one namespace."""
    build, facts = build or tools_of(project).build, {}
    for source in (build.target_source("rp2_pico_w"), build.schema_source("rp2_pico_w")):
        exec(source, facts)  # noqa: S102 (our build output)
    return types.SimpleNamespace(**facts)


def test_the_template_renders_the_users_files_once():
    import yaml

    settings = yaml.safe_load((ROOT / "copier.yml").read_text().split("\ncatalogue:")[0])
    assert {"app-settings.json", "tools.toml"} <= set(settings["_skip_if_exists"])
    assert json.loads((ROOT / "template" / "app-settings.json").read_text()) == {}


def test_the_build_merges_the_apps_settings_and_the_board_checks_them(project):
    target = target_of(project)
    assert target.DEFAULTS["mqtt_port"] == 1883 and target.DEFAULTS["wifi_ssid"] == ""
    assert target.REQUIRED == ("wifi_ssid", "mqtt_server")
    assert target.RANGES == {"mqtt_port": (1, 65535)} and target.CHOICES == {"units": ("metric", "imperial")}
    assert set(target.SECRETS) == {"wifi_password", "mqtt_token"}
    from_runtime = json.loads((project / "config.example.json").read_text())
    assert "mqtt_port" not in from_runtime  # the template's file stays the template's

    sys.path.insert(0, str(project / "device" / "lib"))
    try:
        from runtime import config
    finally:
        sys.path.pop(0)
    rules = config.rules(target, target)
    good = {"wifi_ssid": "home", "mqtt_server": "broker.local"}
    conf, problem = config.check(good, *rules)
    assert problem is None and conf["mqtt_port"] == 1883 and conf["units"] == "metric"
    for wrong, said in [
        ({"mqtt_port": "1883"}, "config.json: mqtt_port should be int from 1 to 65535, not '1883'"),
        ({"mqtt_port": 70000}, "config.json: mqtt_port should be int from 1 to 65535, not 70000"),
        ({"units": "kelvin"}, "config.json: units should be one of metric, imperial, not 'kelvin'"),
        ({"verbose": 1}, "config.json: verbose should be bool, not 1"),
        ({"mqtt_server": ""}, "config.json: mqtt_server is empty"),
        ({"mqtt_token": 12345}, "config.json: mqtt_token should be str, not its value (a secret: not shown)"),
    ]:
        assert config.check(dict(good, **wrong), *rules) == (None, said)
    assert config.check(dict(good, ratio=2), *rules)[1] is None  # an int is a float


@pytest.mark.parametrize("declaration, words", [
    ({"log_level": {"type": "str", "default": "x"}}, "log_level: the runtime has a setting of this name"),
    ({"mqtt_port": {"type": "int", "default": "1883"}}, "mqtt_port: default '1883' is not of type int"),
    ({"mqtt_port": {"type": "integer", "default": 1}}, "mqtt_port: type 'integer'"),
    ({"mqtt_port": {"type": "int", "default": 1, "maximum": 9}}, "mqtt_port: unknown field 'maximum'"),
    ({"mqtt_port": {"type": "int", "default": 0, "min": 1}}, "mqtt_port: default 0 is outside min..max"),
    ({"units": {"type": "str", "default": "x", "choices": ["a"]}}, "units: default 'x' is not one of the choices"),
    ({"port": {"type": "int", "default": 1, "required": True}}, "port: required is for str settings only"),
    ({"token": {"type": "str", "default": "abc", "secret": True}}, "token: a secret's default stays \"\""),
    ({"bad name": {"type": "str", "default": ""}}, "bad name: a setting's name takes letters"),
])
def test_a_bad_declaration_fails_check_and_build_naming_the_setting(project, declaration, words):
    (project / "app-settings.json").write_text(json.dumps(declaration, indent=2))
    out = run(project, "tools", "check")
    assert out.returncode == 1 and "[app-setting]" in out.stderr and words in out.stderr, out.stderr
    build = tools_of(project).build
    with pytest.raises(build.Failure, match="app-settings.json: " + words.split(":")[0]):
        target_of(project, build)


def test_a_declared_app_key_is_known_to_check(project):
    app = project / "device" / "app.py"
    app.write_text(app.read_text() + '\n\ndef broker(ctx):\n    return ctx.config["mqtt_server"]\n')
    assert run(project, "tools", "check").returncode == 0
    (project / "app-settings.json").write_text("{}")
    out = run(project, "tools", "check")
    assert out.returncode == 1 and "[config-key]" in out.stderr and "'mqtt_server'" in out.stderr


def test_tools_config_keeps_every_key_asks_for_required_and_hides_secrets(project, monkeypatch):
    config_cmd = tools_of(project).config_cmd
    path = project / "config.json"
    # A typo in one app setting, a key nobody declares, and settings that are fine.
    path.write_text(json.dumps({"wifi_ssid": "home", "mqtt_port": "1883", "units": "imperial", "colour": "blue",
                                "mqtt_token": TOKEN}))
    monkeypatch.setattr(config_cmd, "CONFIG", path)
    before = path.read_bytes()
    # Enter cannot keep a refused value or an empty required one: nothing is written.
    with pytest.raises(config_cmd.Failure, match="mqtt_server is empty: give mqtt_server a value"):
        config_cmd.make(ask=lambda prompt: "", ask_secret=lambda prompt: "", say=lambda s: None)
    assert path.read_bytes() == before
    answers = {"mqtt_port": ["1884"], "mqtt_server": ["broker.local"]}
    prompts, secret_prompts, said = [], [], []

    def ask(prompt):
        prompts.append(prompt)
        left = answers.get(prompt.split(" ")[0])
        return left.pop(0) if left else ""

    def ask_secret(prompt):
        secret_prompts.append(prompt)
        return ""

    config_cmd.make(ask=ask, ask_secret=ask_secret, say=said.append)
    saved = json.loads(path.read_text())
    assert saved == {"wifi_ssid": "home", "mqtt_port": 1884, "units": "imperial", "colour": "blue",
                     "mqtt_token": TOKEN, "mqtt_server": "broker.local"}
    assert "mqtt_port should be int from 1 to 65535, not '1883': give a new value" in said
    assert "mqtt_server (required) [\"\"]: " in prompts
    assert sorted(secret_prompts) == ["mqtt_token [set]: ", "wifi_password [empty]: "]
    assert TOKEN not in "".join(prompts + secret_prompts + said)


def test_the_setup_page_keeps_the_other_settings_and_asks_for_the_required_ones(project, tmp_path):
    """The issue's case: a wrong mqtt_port sent the board to setup mode, and saving the page
    reset mqtt_server. Now the page keeps mqtt_server, leaves the wrong value out (naming it), and
    has a field for the required app setting; the secret never reaches the page or the console."""
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "config.json").write_text(json.dumps({"wifi_ssid": "old", "mqtt_port": "1883",
                                                   "mqtt_server": "broker.local", "mqtt_token": TOKEN,
                                                   "colour": "blue"}))
    vm = sim_in_background(project, "--flash", str(flash))
    try:
        url = vm.wait_for("setup page: http://", 60)
        assert url, vm.output
        url = url.split("setup page: ", 1)[1].strip()
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "name=mqtt_server" in page and "placeholder='set: empty keeps it'" in page
        assert TOKEN not in page and "broker.local" not in page
        form = urlencode({"ssid": "home", "password": "s3cret-pw", "mqtt_server": ""}).encode()
        saved = urllib.request.urlopen(url + "save", data=form, timeout=10).read().decode()
        assert "<h1>Saved</h1>" in saved and "mqtt_port" in saved and TOKEN not in saved
        assert vm.wait_for("app: tick", 60), vm.output
    finally:
        output = vm.kill()
    assert "setup mode: config.json: mqtt_port should be int from 1 to 65535, not '1883'" in output
    assert "left out mqtt_port" in output and TOKEN not in output and "s3cret-pw" not in output
    assert json.loads((flash / "config.json").read_text()) == {
        "wifi_ssid": "home", "wifi_password": "s3cret-pw", "mqtt_server": "broker.local", "mqtt_token": TOKEN,
        "colour": "blue"}
    assert "1883" in (flash / "config.json.bad").read_text()  # the old file, as it was, stays on the flash


def test_user_exclusions_reach_ruff_typecheck_and_check(project):
    ugly = project / "device" / "lib" / "thirdparty" / "ugly.py"
    ugly.parent.mkdir(parents=True)
    ugly.write_text("import os,sys\ndef f( x ):\n  try:\n    return x\n  except:\n    pass\n\n"
                    "def g(config):\n    return config['nothing_declared'] + os.no_such_thing\n")
    app = project / "device" / "app.py"
    app.write_text("import thirdparty.ugly  # noqa: F401\n" + app.read_text())
    env = stubs_env(project)

    def findings():
        ruff = run(project, "ruff", "check", ".")
        typed = run(project, "tools", "typecheck", env=env)
        checked = run(project, "tools", "check")
        return ("ugly.py" in ruff.stdout, "ugly.py" in typed.stdout, "ugly.py" in checked.stderr)

    assert findings() == (True, True, True)
    tools_toml = project / "tools.toml"
    tools_toml.write_text(tools_toml.read_text().replace('# "device/lib/thirdparty",', '"device/lib/thirdparty/",'))
    assert findings() == (False, False, False)
    # pre-commit names the files: the exclusion holds for a file given by name too.
    assert "ugly.py" not in run(project, "ruff", "check", str(ugly.relative_to(project))).stdout
    assert (project / ".typecheck.json").is_file() and ".typecheck.json" in (project / ".gitignore").read_text()
    # Still part of the firmware: compiled, and counted against the flash.
    ugly.write_text(ugly.read_text() + "\ndef broken(:\n")
    out = run(project, "tools", "check")
    assert out.returncode == 1 and "[compile]" in out.stderr and "ugly.py" in out.stderr


def test_a_plain_pico_has_no_wifi_settings_ships_no_wifi_code_and_starts_on_defaults(tmp_path):
    dst = tmp_path / "pico"
    render(dst, boards=["rp2_pico"])
    example = json.loads((dst / "config.example.json").read_text())
    assert example and not [k for k in example if k.startswith("wifi_")]
    flash = tmp_path / "flash"
    out = run(dst, "tools", "sim", "--flash", str(flash), "--ticks", "12", timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert "setup mode" not in out.stdout and "app: tick 10" in out.stdout
    runtime = {p.name for p in (flash / "lib" / "runtime").iterdir()}
    assert "heartbeat.mpy" in runtime and not runtime & {"net.mpy", "provision.mpy", "setup_form.mpy", "setup_page.mpy"}
    assert not (flash / "config.json").exists()


def test_piped_answers_fill_the_secrets_without_a_terminal_warning(project):
    # Answers piped in (a script, CI): no terminal to hide a secret on, so nothing to warn about;
    # the secret still lands in config.json and is never printed.
    order = [*json.loads((project / "config.example.json").read_text()), *DECLARED]
    answers = {"wifi_ssid": "home", "wifi_password": "pw-991", "mqtt_server": "broker.local", "mqtt_token": TOKEN}
    piped = "".join(answers.get(key, "") + "\n" for key in order)
    out = subprocess.run([sys.executable, "-m", "tools", "config"], cwd=project, input=piped, capture_output=True,
                         text=True, check=False, timeout=60)
    assert out.returncode == 0, out
    assert "echo" not in out.stderr and "Warning" not in out.stderr, out.stderr
    saved = json.loads((project / "config.json").read_text())
    assert saved["wifi_password"] == "pw-991" and saved["mqtt_token"] == TOKEN, saved
    assert TOKEN not in out.stdout + out.stderr and "pw-991" not in out.stdout + out.stderr
