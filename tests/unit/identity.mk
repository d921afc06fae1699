test_identity_SRCS := model/identity.c
