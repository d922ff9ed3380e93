# Hardware drivers, one folder per port (sys.platform). The runtime loads the
# folder of the port it runs on: drivers/esp32 on an ESP32, drivers/linux on the
# virtual board. Every folder offers the same functions:
#
#   led(pin, active_low)  -> the status LED (on/off/value) or None
#   button_held(pin)      -> True while a button is held (boot.py reads the
#                            safe-mode button itself, with built-in modules only)
#   watchdog(timeout_ms)  -> a started watchdog with feed()
#   idle(ms)              -> wait until the next tick
#   http_addr()           -> (host, port) of the setup page (Wi-Fi ports only)
#
# drivers/gpio holds what most ports share (GPIO LED and button, machine.WDT).
# Add your own drivers (sensors, displays) beside these, one module per device.
