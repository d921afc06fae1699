test_paretonbd_SRCS := model/btyd.c model/paretonbd.c model/specfun.c model/optim.c
