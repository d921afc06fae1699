test_store_SRCS := server/store.c server/store_query.c server/store_act.c model/calendar.c
