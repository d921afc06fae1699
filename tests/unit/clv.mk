test_clv_SRCS := model/clv.c model/bgnbd.c model/paretonbd.c model/gammagamma.c model/btyd.c model/specfun.c model/optim.c
