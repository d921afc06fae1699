test_gammagamma_SRCS := model/btyd.c model/gammagamma.c model/specfun.c model/optim.c
