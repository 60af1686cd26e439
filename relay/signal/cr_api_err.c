#include "cr_api_err.h"

int cr_api_err_status(int code)
{
    switch (code) {
#define CR__API_STATUS(name, c, status, text) \
    case c:                                   \
        return status;
        CR_API_ERR_MAP(CR__API_STATUS)
#undef CR__API_STATUS
    }
    return 500;
}

const char *cr_api_err_text(int code)
{
    switch (code) {
#define CR__API_TEXT(name, c, status, text) \
    case c:                                 \
        return text;
        CR_API_ERR_MAP(CR__API_TEXT)
#undef CR__API_TEXT
    }
    return "unknown error";
}

static const int cr__api_codes[] = {
#define CR__API_CODE(name, c, status, text) c,
    CR_API_ERR_MAP(CR__API_CODE)
#undef CR__API_CODE
};

_Static_assert(sizeof(cr__api_codes) / sizeof(cr__api_codes[0]) == CR_API_ERR_COUNT, "CR_API_ERR_COUNT");

int cr_api_err_index(int code)
{
    for (int i = 0; i < CR_API_ERR_COUNT; i++)
        if (cr__api_codes[i] == code)
            return i;
    return -1;
}

int cr_api_err_code(int i)
{
    return i >= 0 && i < CR_API_ERR_COUNT ? cr__api_codes[i] : 0;
}
