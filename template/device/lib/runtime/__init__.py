# The runtime owned by the template: config, log, net, safety and the context
# handed to app.py. `copier update` keeps these files current; put your own
# code in app.py and in modules of your own.
