# What the setup page's save keeps (runtime/provision.py): every setting of the
# last config.json that the board accepts, so a typo in one setting never wipes
# the others. At boot a refused config.json is set aside as config.json.bad:
# its settings are read from there. A refused one is left out of the new file
# (its default applies) and named; config.json.bad keeps it as it was.
from runtime import config


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
