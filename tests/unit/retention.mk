test_retention_SRCS := model/retention.c model/calendar.c
