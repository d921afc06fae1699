test_money_SRCS := model/money.c
