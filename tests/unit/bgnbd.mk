test_bgnbd_SRCS := model/btyd.c model/bgnbd.c model/specfun.c model/optim.c
