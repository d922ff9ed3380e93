"""`copier update` from every recorded release to the template under test.

data/releases.yml names the commit of each release. The tests clone this repository into a
temporary folder, commit the working tree under test there as HEAD (so uncommitted changes are
what gets tested) and tag every recorded release `v<version>`: this works in clones that carry
history but no tags, as CI clones do. A clone without a release's commit (a shallow clone)
fails with a message that says so.
"""
import difflib
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from conftest import CATALOGUE, ROOT, USERS_PART, stubs_env


class Settings(yaml.SafeLoader):
    """Reads copier.yml's settings; its `!include` of the catalogue is left unread."""


Settings.add_constructor("!include", lambda loader, node: None)
RECORD = yaml.safe_load((ROOT / "data" / "releases.yml").read_text())["releases"]
VERSIONS = [r["version"] for r in RECORD]


class _Settings(yaml.SafeLoader):
    """Reads copier.yml's settings; `!include` (the board catalogue) is not needed here."""


_Settings.add_constructor("!include", lambda loader, node: None)
SETTINGS = yaml.load((ROOT / "copier.yml").read_text(), Loader=_Settings)
USER_OWNED = set(SETTINGS["_skip_if_exists"])
ANSWERS_FILE = SETTINGS["_answers_file"]

# Git runs with a fixed identity and without the developer's or the machine's git config, so
# that a global commit.gpgsign or hook setting cannot change what the tests see.
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ada User", "GIT_AUTHOR_EMAIL": "ada@example.invalid",
    "GIT_COMMITTER_NAME": "Ada User", "GIT_COMMITTER_EMAIL": "ada@example.invalid",
}

# A user of a one-board project; the untouched project uses several boards and the
# conditional questions (Pico W country, no log file) so that answer replay is exercised.
USER_ANSWERS = {"project_name": "Garden Probe", "boards": ["esp32"], "log_level": "DEBUG"}
UNTOUCHED_ANSWERS = {"project_name": "Greenhouse", "boards": ["rp2_pico_w", "esp8266"], "wifi": True,
                     "wifi_country": "DE", "log_to_file": False, "loop_interval_ms": 500}

# What the user does to the project between copy and update.
USER_APP = '''\
# Garden probe: logs the soil moisture every tenth tick.
from drivers.soil import Soil

probe = Soil()


def setup(ctx):
    ctx.log.info("app: hello from %s, soil probe ready", ctx.board.LABEL)


def loop(ctx):
    if ctx.tick % 10 == 0:
        ctx.log.info("app: tick %d soil=%d", ctx.tick, probe.read())
'''
USER_DRIVER = '''\
# Soil moisture probe (capacitive, on an ADC pin); a fixed mid-scale reading off the board.


class Soil:
    def __init__(self, pin=None):
        self.pin = pin

    def read(self):
        return 512
'''
USER_CONFIG = '{"wifi_ssid": "allotment", "wifi_password": "not-in-git"}\n'
USER_LINE = "# ours: the probe board has its LED on the other pin; see device/drivers/soil.py\n"
OPTIONAL_FILE = ".gitattributes"  # a template-owned file a user may delete; must stay deleted


def git(*args, cwd, check=True):
    out = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    if check and out.returncode:
        pytest.fail(f"git {' '.join(args)} (in {cwd}) failed:\n{out.stdout}{out.stderr}")
    return out


def copier(*args, cwd):
    out = subprocess.run([sys.executable, "-m", "copier", *args], cwd=cwd, env=GIT_ENV,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"copier {' '.join(args)} failed:\n{out.stdout[-2000:]}{out.stderr[-4000:]}"
    return out


def tree(root):
    """Every file below root except .git, as {relative posix path: bytes}."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def assert_same_tree(actual, expected):
    missing, extra = sorted(expected.keys() - actual.keys()), sorted(actual.keys() - expected.keys())
    assert not missing and not extra, f"missing files: {missing}; unexpected files: {extra}"
    for rel in sorted(expected):
        if actual[rel] != expected[rel]:
            diff = difflib.unified_diff(expected[rel].decode(errors="replace").splitlines(),
                                        actual[rel].decode(errors="replace").splitlines(),
                                        "expected/" + rel, "actual/" + rel, lineterm="")
            pytest.fail(f"{rel} differs:\n" + "\n".join(list(diff)[:60]))


def answers_of(project):
    return yaml.safe_load((project / ANSWERS_FILE).read_text())


def commit_all(project, message):
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", message, cwd=project)


def copy(repo, ref, answers, dst):
    """`copier copy` at a git ref of the template, then the user's first commit."""
    data = dst.parent / (dst.name + "-answers.yml")
    data.write_text(yaml.safe_dump(answers))
    copier("copy", "--quiet", "--defaults", "--data-file", str(data), "--vcs-ref", ref, str(repo), str(dst),
           cwd=dst.parent)
    git("init", "-q", cwd=dst)
    commit_all(dst, f"project from the template at {ref}")
    return dst


def fresh_copy_like(project, repo, dst):
    """A copy at HEAD with the answers recorded in project (questions only, no _commit/_src_path)."""
    recorded = {k: v for k, v in answers_of(project).items() if not k.startswith("_")}
    return copy(repo, "HEAD", recorded, dst)


# An update needs --trust only when the template has migrations (docs/releasing.md); without
# them the update must work untrusted, like the copy.
TRUST = ["--trust"] if SETTINGS.get("_migrations") else []


def update_to_head(project):
    copier("update", "--quiet", "--defaults", "--skip-answered", *TRUST, "--vcs-ref", "HEAD", cwd=project)


class TemplateRepo:
    def __init__(self, path):
        self.path = path
        self.head = git("describe", "--tags", "--always", "HEAD", cwd=path).stdout.strip()


def rebuild_history(dst):
    """Clone ROOT into dst, commit the working tree under test as HEAD, tag every release."""
    top = git("rev-parse", "--show-toplevel", cwd=ROOT, check=False)
    if top.returncode or Path(top.stdout.strip()).resolve() != ROOT.resolve():
        pytest.fail(f"{ROOT} is not the top of a git checkout: the update tests need the template's git "
                    "history (clone the repository instead of unpacking an archive)")
    shallow = git("rev-parse", "--is-shallow-repository", cwd=ROOT).stdout.strip() == "true"
    for r in RECORD:
        if git("cat-file", "-e", r["commit"] + "^{commit}", cwd=ROOT, check=False).returncode:
            pytest.fail(f"release {r['version']} is commit {r['commit']} (data/releases.yml), which this "
                        f"checkout does not have{' (it is a shallow clone)' if shallow else ''}: run "
                        "`git fetch --unshallow` or clone with full history, then test again")
        if git("merge-base", "--is-ancestor", r["commit"], "HEAD", cwd=ROOT, check=False).returncode:
            pytest.fail(f"release {r['version']}: commit {r['commit']} is not in the history of HEAD; "
                        "fix data/releases.yml")
    git("clone", "--quiet", "--no-checkout", str(ROOT), str(dst), cwd=dst.parent)
    # HEAD of the clone = HEAD of this checkout, even if that is detached or a linked worktree.
    git("fetch", "--quiet", str(ROOT), "HEAD", cwd=dst)
    git("reset", "--quiet", "--soft", "FETCH_HEAD", cwd=dst)
    # The working tree under test: tracked and untracked files, minus what .gitignore ignores.
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for rel in sorted(set(filter(None, listed.split("\0")))):
        src = ROOT / rel
        if os.path.lexists(src) and not src.is_dir():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel, follow_symlinks=False)
    git("add", "-A", cwd=dst)
    if git("diff", "--cached", "--quiet", "HEAD", cwd=dst, check=False).returncode:
        git("commit", "-q", "-m", "the working tree under test", cwd=dst)
    # Tags: exactly the recorded releases, so copier's "latest version" is the record's.
    recorded = {f"v{r['version']}": r["commit"] for r in RECORD}
    for tag in git("tag", "--list", cwd=dst).stdout.split():
        if tag in recorded:
            at = git("rev-parse", tag + "^{commit}", cwd=dst).stdout.strip()
            if at != recorded[tag]:
                pytest.fail(f"tag {tag} is commit {at} but data/releases.yml says {recorded[tag]}")
        else:
            git("tag", "-d", tag, cwd=dst)
    for tag, commit in recorded.items():
        git("tag", "-f", tag, commit, cwd=dst)
    return TemplateRepo(dst)


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory):
    return rebuild_history(tmp_path_factory.mktemp("history") / "template")


def user_edit_spot(old, new):
    """Where a user line can go in a template-owned Python file without touching what the
    template changes: before a top-level def/class with at least four unchanged lines (more
    than copier's three lines of diff context) on both sides, else at the end of the file
    after four unchanged lines. Returns (old index, new index) or None."""
    blocks = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, _ in blocks:
        if tag == "equal":
            for i in range(i1 + 4, i2 - 4):
                if old[i].startswith(("def ", "class ")):
                    return i, j1 + (i - i1)
    tag, i1, i2, j1, j2 = blocks[-1]
    if tag == "equal" and i2 - i1 >= 4 and old[-1].endswith("\n"):
        return i2, j2
    return None


def pick_user_edit(old_project, fresh_project):
    """A template-owned .py file present before and after, preferring one the update changes."""
    old_files, new_files = tree(old_project), tree(fresh_project)
    shared = [rel for rel in sorted(old_files.keys() & new_files.keys())
              if rel.endswith(".py") and rel not in USER_OWNED]
    for rel in sorted(shared, key=lambda rel: old_files[rel] == new_files[rel]):
        old = old_files[rel].decode().splitlines(keepends=True)
        new = new_files[rel].decode().splitlines(keepends=True)
        spot = user_edit_spot(old, new)
        if spot:
            return rel, old, new, spot
    pytest.fail("no template-owned Python file has a top-level def in a region this update leaves alone")


def conflict_markers(project):
    found = []
    for rel, data in tree(project).items():
        for n, line in enumerate(data.decode(errors="replace").splitlines(), 1):
            if re.match(r"(<{7}|>{7}|={7})( |$)", line):
                found.append(f"{rel}:{n}: {line}")
    return found


def test_release_record_is_well_formed():
    assert RECORD, "data/releases.yml lists no release"
    versions = []
    for r in RECORD:
        assert set(r) == {"version", "commit", "date"}, r
        try:
            v = Version(r["version"])
        except InvalidVersion:
            pytest.fail(f"release {r['version']!r} is not a PEP 440 version")
        assert str(v) == r["version"], f"write release {r['version']!r} in its normal form {str(v)!r}"
        assert re.fullmatch(r"[0-9a-f]{40}", r["commit"]), f"release {v}: give the full 40-digit commit hash"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"]), f"release {v}: date as YYYY-MM-DD"
        versions.append(v)
    assert versions == sorted(set(versions)), "releases must be listed oldest first, each once"
    assert len({r["commit"] for r in RECORD}) == len(RECORD), "two releases share a commit"


def test_changelog_has_a_section_with_upgrade_notes_per_release():
    text = (ROOT / "CHANGELOG.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    titles = [s.splitlines()[0] for s in sections]
    assert titles[0] == "Unreleased", "keep `## Unreleased` at the top of CHANGELOG.md"
    released = [t.split()[0] for t in titles[1:]]
    recorded = [r["version"] for r in reversed(RECORD)]
    # A release commit cannot hold its own hash: the record entry follows one commit later,
    # so the newest CHANGELOG version may be released but not recorded yet.
    pending = released[:max(0, len(released) - len(recorded))]
    assert released[len(pending):] == recorded and len(pending) <= 1, \
        f"CHANGELOG sections {released} do not match data/releases.yml {recorded}, newest first"
    assert all(Version(v) > Version(recorded[0]) for v in pending), f"{pending} is older than {recorded[0]}"
    for r, title in zip(reversed(RECORD), titles[1 + len(pending):]):
        assert title == f"{r['version']} ({r['date']})", f"section title {title!r}: want version (date)"
    for title, body in zip(titles, sections):
        assert "### Upgrade notes" in body, f"CHANGELOG section {title!r} has no '### Upgrade notes'"


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_update_keeps_the_users_work(template_repo, tmp_path, version):
    project = copy(template_repo.path, f"v{version}", USER_ANSWERS, tmp_path / "garden")
    assert answers_of(project)["_commit"] == f"v{version}"
    fresh = fresh_copy_like(project, template_repo.path, tmp_path / "fresh")
    rel, old, new, (i, j) = pick_user_edit(project, fresh)
    assert (project / OPTIONAL_FILE).is_file(), f"{OPTIONAL_FILE} is not in a {version} project: pick another"

    # The user at work: own code, an own driver, a local config, a note in a template-owned
    # file, an optional file deleted.
    port = CATALOGUE[USER_ANSWERS["boards"][0]]["port"]
    (project / "device/app.py").write_text(USER_APP)
    (project / "device/drivers/soil.py").write_text(USER_DRIVER)
    (project / f"device/drivers/{port}/display.py").write_text("# our display, one module per device\n")
    (project / "config.json").write_text(USER_CONFIG)
    (project / rel).write_text("".join(old[:i] + [USER_LINE] + old[i:]))
    (project / OPTIONAL_FILE).unlink()
    commit_all(project, "garden probe: soil sensor app, notes, no .gitattributes")
    assert git("check-ignore", "-q", "config.json", cwd=project, check=False).returncode == 0

    update_to_head(project)

    assert not conflict_markers(project), conflict_markers(project)
    assert not list(project.rglob("*.rej")), list(project.rglob("*.rej"))
    unmerged = git("diff", "--name-only", "--diff-filter=U", cwd=project).stdout.split()
    assert not unmerged, f"unmerged after update: {unmerged}"
    answers = answers_of(project)
    assert answers["_commit"] == template_repo.head != f"v{version}"
    # Exactly a fresh copy at HEAD, plus the user's work and minus what the user deleted.
    expected = tree(fresh)
    expected.update({
        "device/app.py": USER_APP.encode(),
        "device/drivers/soil.py": USER_DRIVER.encode(),
        f"device/drivers/{port}/display.py": b"# our display, one module per device\n",
        "config.json": USER_CONFIG.encode(),
        rel: "".join(new[:j] + [USER_LINE] + new[j:]).encode(),
    })
    del expected[OPTIONAL_FILE]
    assert_same_tree(tree(project), expected)

    # The project is a fresh copy plus the user's work (above): the part of its suite that work
    # can change passes. The user's config.json stays in the project root: tests use their own
    # flash folders (test_generated_project.py runs a whole suite beside one too).
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *USERS_PART],
                         cwd=project, capture_output=True, text=True, timeout=600, env=stubs_env(project))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_untouched_project_updated_equals_a_fresh_copy(template_repo, tmp_path, version):
    project = copy(template_repo.path, f"v{version}", UNTOUCHED_ANSWERS, tmp_path / "greenhouse")
    before = tree(project)
    update_to_head(project)
    fresh = fresh_copy_like(project, template_repo.path, tmp_path / "fresh")
    # Strict: the answers file too, _commit and _src_path included. The user's files
    # (_skip_if_exists: app.py, tests/app/ ...) are rendered once: those the old release wrote
    # stay as they were; the others arrive as in a fresh copy.
    assert answers_of(project)["_commit"] == template_repo.head
    skip = yaml.load((ROOT / "copier.yml").read_text(), Loader=Settings)["_skip_if_exists"]
    expected = tree(fresh)
    expected.update({rel: data for rel, data in before.items() if any(fnmatch.fnmatch(rel, p) for p in skip)})
    assert_same_tree(tree(project), expected)


def test_check_update_reports_a_newer_release(template_repo, tmp_path):
    """The generated project's CI step `copier check-update`: up to date at the newest release,
    and it names the new version once HEAD is released (tagged here in a throwaway clone)."""
    newest = RECORD[-1]["version"]
    repo = tmp_path / "released"
    git("clone", "--quiet", str(template_repo.path), str(repo), cwd=tmp_path)
    for r in RECORD:
        git("tag", "-f", f"v{r['version']}", r["commit"], cwd=repo)
    project = copy(repo, f"v{newest}", USER_ANSWERS, tmp_path / "project")

    def check_update():
        out = copier("check-update", "--output-format", "json", cwd=project)
        return json.loads(out.stdout)

    assert check_update() == {"update_available": False, "current_version": newest, "latest_version": newest}
    v = Version(newest)
    following = f"{v.major}.{v.minor + 1}.0"
    git("tag", f"v{following}", "HEAD", cwd=repo)
    assert check_update() == {"update_available": True, "current_version": newest, "latest_version": following}


USER_SETTINGS = '{\n  "mqtt_server": {"type": "str", "default": "", "required": true, "help": "the broker"},\n' \
                '  "mqtt_port": {"type": "int", "default": 1883, "min": 1, "max": 65535}\n}\n'
USER_TOOLS = '# ours\nextend-exclude = ["device/lib/thirdparty"]\n'


@pytest.mark.parametrize("version", VERSIONS)
def test_update_keeps_the_apps_settings_and_brings_the_runtimes(template_repo, tmp_path, version):
    """The app's settings live in the user's app-settings.json: an update from a release that had no
    such file leaves it as it is, config.example.json (the template's) takes the template's new keys
    without a conflict, and the build then merges both."""
    project = copy(template_repo.path, f"v{version}", USER_ANSWERS, tmp_path / "garden")
    (project / "app-settings.json").write_text(USER_SETTINGS)
    config = '{"wifi_ssid": "allotment", "mqtt_server": "broker.local", "mqtt_port": 8883}\n'
    (project / "config.json").write_text(config)
    commit_all(project, "garden probe: the broker's settings")

    update_to_head(project)

    assert not conflict_markers(project) and not list(project.rglob("*.rej"))
    assert not git("diff", "--name-only", "--diff-filter=U", cwd=project).stdout.split()
    assert (project / "app-settings.json").read_text() == USER_SETTINGS
    assert (project / "config.json").read_text() == config
    fresh = fresh_copy_like(project, template_repo.path, tmp_path / "fresh")
    assert (project / "config.example.json").read_bytes() == (fresh / "config.example.json").read_bytes()
    code = ("import json, sys\nfrom tools import build, config_cmd\nsrc = build.schema_source(build.PROJECT['boards'][0])\n"
            "facts = {}\nexec(src, facts)\nprint(json.dumps([facts['DEFAULTS'], list(facts['REQUIRED']), "
            "config_cmd.problem(open('config.json', 'rb').read())]))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    defaults, required, problem = json.loads(out.stdout)
    runtime = json.loads((project / "config.example.json").read_text())
    assert defaults == dict(runtime, mqtt_server="", mqtt_port=1883) and "mqtt_server" in required
    assert problem is None


def test_template_changes_never_reach_user_owned_files(template_repo, tmp_path):
    """A later release that rewrites the example app.py must not touch the user's app.py, while
    its change to a template-owned file arrives. The release is simulated in a throwaway clone."""
    repo = tmp_path / "next"
    git("clone", "--quiet", str(template_repo.path), str(repo), cwd=tmp_path)
    project = copy(repo, "HEAD", USER_ANSWERS, tmp_path / "project")
    (project / "device/app.py").write_text(USER_APP)
    (project / "device/drivers/soil.py").write_text(USER_DRIVER)
    (project / "app-settings.json").write_text(USER_SETTINGS)
    (project / "tools.toml").write_text(USER_TOOLS)
    ours = "def test_soil(firmware):\n    assert firmware(ticks=3).rc == 0\n"
    (project / "tests/app/test_app.py").write_text(ours)
    commit_all(project, "our app")

    for name in ("app-settings.json", "tools.toml"):  # the next release renders other first versions
        (repo / "template" / name).write_text((repo / "template" / name).read_text() + "\n")
    app, main = repo / "template/device/app.py", repo / "template/device/main.py"
    app.write_text(app.read_text().replace("def loop(ctx):", "def loop(ctx):\n    ctx.led.toggle()", 1)
                   + "\n\ndef teardown(ctx):\n    pass\n")
    main.write_text(main.read_text() + "# next release\n")
    starter = repo / "template/tests/app/test_app.py"
    starter.write_text(starter.read_text() + "\n\ndef test_next():\n    pass\n")
    git("commit", "-q", "-am", "next release: the example app blinks the LED", cwd=repo)

    update_to_head(project)
    assert (project / "device/app.py").read_text() == USER_APP
    assert (project / "tests/app/test_app.py").read_text() == ours, "the user's tests are theirs"
    assert (project / "device/drivers/soil.py").read_text() == USER_DRIVER
    assert (project / "app-settings.json").read_text() == USER_SETTINGS
    assert (project / "tools.toml").read_text() == USER_TOOLS
    assert (project / "device/main.py").read_text().endswith("# next release\n")
    assert not conflict_markers(project) and not list(project.rglob("*.rej"))


def ownership_table(project):
    """{path: owner} of the project's docs/updating.md table (the catch-all row of files a user adds left out)."""
    page = (project / "docs" / "updating.md").read_text()
    owners = {}
    for owner, files in re.findall(r"^\| (you|template|copier) \| (.*?) \| [^|]* \|$", page, re.M):
        if not files.startswith("every file you add"):
            for path in re.findall(r"`([^`]+)`", files):
                assert path not in owners, f"{path} is in two rows"
                owners[path] = owner
    return owners


def owner_of(rel, owners):
    found = [p for p in owners if rel == p or (p.endswith("/") and rel.startswith(p))]
    return owners[max(found, key=len)] if found else None


def test_the_ownership_table_covers_every_rendered_file_and_only_those(tmp_path):
    answers = {"boards": ["rp2_pico_w", "esp8266"], "wifi": True, "wifi_country": "DE", "ci": "github",
               "editor": "vscode"}
    project = tmp_path / "proj"
    copier("copy", "--quiet", "--defaults", "--vcs-ref", "HEAD",
           *(f"--data={k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in answers.items()),
           str(ROOT), str(project), cwd=tmp_path)
    owners = ownership_table(project)
    unowned = sorted(rel for rel in tree(project) if owner_of(rel, owners) is None)
    assert not unowned, f"docs/updating.md names no owner for: {unowned}"
    stale = sorted(p for p in owners if not (project / p).exists() and owners[p] == "template")
    assert not stale, f"docs/updating.md names template files this project does not have: {stale}"
    for rel in USER_OWNED:
        assert owner_of(rel, owners) == "you", rel
    assert owner_of(ANSWERS_FILE, owners) == "copier"
    assert owner_of("device/drivers/rp2/__init__.py", owners) == "template"
    assert "device/drivers/esp32/__init__.py" not in owners  # rendered for this project's ports only
