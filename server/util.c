#include <time.h>

#include "server.h"

int64_t now_unix(void)
{
	return (int64_t)time(NULL);
}

json_t *json_time_or_null(bool is_null, int64_t t)
{
	return is_null ? json_null() : json_integer(t);
}
