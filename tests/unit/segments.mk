test_segments_SRCS := model/stages.c model/pyramid.c model/aarrr.c model/aipl.c model/rfm.c
