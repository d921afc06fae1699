test_funnel_SRCS := model/funnel.c model/funnel_engine.c model/funnel_modes.c
