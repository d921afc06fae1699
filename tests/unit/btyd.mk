test_btyd_SRCS := model/btyd.c model/bgnbd.c model/paretonbd.c model/gammagamma.c model/specfun.c model/optim.c
