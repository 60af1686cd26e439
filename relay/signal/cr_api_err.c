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
