test_calendar_SRCS := model/calendar.c
