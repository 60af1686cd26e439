#include "cr_json_guard.h"

#include <string.h>

int cr_json_depth(const char *text, size_t len, unsigned max)
{
    unsigned depth = 0, deepest = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return -1;
            if (depth > deepest)
                deepest = depth;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return (int)deepest;
}

/* Walks the parsed tree; depth was bounded by the pre-scan, so recursion is bounded too. */
static enum cr_json_fail check_tree(json_t *v, const cr_json_limits_t *lim)
{
    const char *key;
    json_t *item;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        json_object_foreach(v, key, item)
        {
            if (strlen(key) > lim->max_key)
                return CR_JSON_LONG_KEY;
            enum cr_json_fail f = check_tree(item, lim);
            if (f != CR_JSON_OK)
                return f;
        }
        return CR_JSON_OK;
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
        {
            enum cr_json_fail f = check_tree(item, lim);
            if (f != CR_JSON_OK)
                return f;
        }
        return CR_JSON_OK;
    case JSON_STRING:
        return json_string_length(v) > lim->max_string ? CR_JSON_LONG_STRING : CR_JSON_OK;
    default:
        return CR_JSON_OK;
    }
}

enum cr_json_fail cr_json_check(json_t *v, const cr_json_limits_t *lim)
{
    return check_tree(v, lim);
}

enum cr_json_fail cr_json_load_object(const char *text, size_t len, const cr_json_limits_t *lim, json_t **out)
{
    json_error_t err;
    *out = NULL;
    if (len > lim->max_size)
        return CR_JSON_TOO_BIG;
    if (cr_json_depth(text, len, lim->max_depth) < 0)
        return CR_JSON_TOO_DEEP;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL)
        return CR_JSON_SYNTAX;
    if (!json_is_object(root)) {
        json_decref(root);
        return CR_JSON_NOT_OBJECT;
    }
    enum cr_json_fail f = check_tree(root, lim);
    if (f != CR_JSON_OK) {
        json_decref(root);
        return f;
    }
    *out = root;
    return CR_JSON_OK;
}
