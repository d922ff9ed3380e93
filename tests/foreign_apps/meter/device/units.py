# Unit helpers of the sensor node.


def celsius(raw):
    # A 10-bit reading mapped onto -20.0 .. 82.3 degrees, as text with one decimal.
    tenths = raw - 200
    sign = "-" if tenths < 0 else ""
    tenths = abs(tenths)
    return "%s%d.%dC" % (sign, tenths // 10, tenths % 10)
