#include "cr_err.h"

const char *cr_strerror(int err)
{
    switch (err) {
#define CR__ERR_TEXT(name, num, text) \
    case CR_##name:                   \
        return text;
        CR_ERRNO_MAP(CR__ERR_TEXT)
#undef CR__ERR_TEXT
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

const char *cr_err_name(int err)
{
    switch (err) {
#define CR__ERR_NAME(name, num, text) \
    case CR_##name:                   \
        return #name;
        CR_ERRNO_MAP(CR__ERR_NAME)
#undef CR__ERR_NAME
    default:
        return "EUNKNOWN";
    }
}
