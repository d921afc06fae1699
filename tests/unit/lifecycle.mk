test_lifecycle_SRCS := model/lifecycle.c model/activity.c model/calendar.c
