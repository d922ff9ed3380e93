# What most ports share: a status LED and a safe-mode button on plain GPIO pins,
# and machine.WDT with a timeout. A port's driver imports what fits its board
# and writes the rest itself (see drivers/pyboard, drivers/rp2).
import time

from machine import WDT, Pin, Signal


def led(pin, active_low):
    if pin is None:
        return None
    return Signal(Pin(pin, Pin.OUT), invert=active_low)


def button_held(pin):
    # A button to ground with the internal pull-up: the pin reads 0 while held.
    return Pin(pin, Pin.IN, Pin.PULL_UP).value() == 0


def button_pressed(pin, led, window_ms):
    return pressed_in_window(lambda: button_held(pin), led, window_ms)


def pressed_in_window(held, led, window_ms, clock=time.ticks_ms, sleep=time.sleep_ms):
    # True when held() is true at some moment of the first window_ms after the
    # reset (boot.py asks, for safe mode). A button held *at* the reset starts the
    # chip's ROM bootloader instead (rp2 BOOTSEL, ESP GPIO0/GPIO9), so the press
    # comes a moment later: poll until the window ends, the LED lit meanwhile.
    # time.ticks_ms() counts from the reset and goes on through a soft reset: the
    # soft resets of mpremote find the window closed and wait not at all.
    polls = (window_ms - clock()) // 10  # none once the window has passed
    pressed = False
    if polls > 0 and led:
        led.on()
    for _ in range(polls):
        pressed = held()
        if pressed:
            break
        sleep(10)
    if polls > 0 and led:
        led.off()
    return pressed


def watchdog(timeout_ms):
    return WDT(timeout=timeout_ms)


def http_addr():
    # Where the setup page listens (runtime/provision.py): every address, port 80.
    return "0.0.0.0", 80
