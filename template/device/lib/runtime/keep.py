# The setup page's save (runtime/provision.py), and what it keeps: every setting
# of the last config.json that the board accepts, so a typo in one setting never
# wipes the others. At boot a refused config.json is set aside as config.json.bad:
# its settings are read from there. A refused one is left out of the new file
# (its default applies) and named; config.json.bad keeps it as it was.
import json

from runtime import config, target


def last():
    # The last config.json's settings, or config.json.bad's; {} if none.
    for path in (config.PATH, config.BAD):
        try:
            data = config.read(path)
        except OSError:
            continue
        found = config.parse(data, {})[0]
        return found if isinstance(found, dict) else {}
    return {}


def fields(last):
    # A field of the page per required app setting: (key, secret, set in last).
    from runtime import schema  # the build's rules: loaded for this call (and save's) only

    return [(k, k in schema.SECRETS, bool(last.get(k))) for k in schema.REQUIRED if k != "wifi_ssid"]


def merge(old, form, rules):
    # (settings, names left out): old's accepted settings, then the form's
    # values ({key: text}); an app field left empty keeps its value.
    conf, dropped = {}, []
    for key, value in old.items():
        if config.check({key: value}, rules[0], (), None, *rules[3:])[1]:
            dropped.append(key)
        else:
            conf[key] = value
    for key, value in form.items():
        if value or key in ("wifi_ssid", "wifi_password"):
            conf[key] = value
    return conf, dropped


def save(old, form):
    # The form saved as config.json over old's settings: (settings, names left out,
    # None), or (None, None, problem) when the board would refuse it. OSError (a
    # full flash) is the caller's to report.
    from runtime import schema

    rules = config.rules(target, schema)
    conf, dropped = merge(old, form, rules)
    problem = config.parse(json.dumps(conf).encode(), *rules)[1]  # the board's check of these very bytes
    if problem:
        return None, None, problem
    config.save(conf)
    return conf, dropped, None
