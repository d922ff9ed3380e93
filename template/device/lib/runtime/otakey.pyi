# lib/runtime/otakey is written by `python -m tools build` from release-key.pub (once
# `python -m tools release` has made the key); this stub describes it for the type checker.
N: int  # the release key's modulus; its exponent is 65537
