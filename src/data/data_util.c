/* data_util.c — helpers shared by the dataset readers (data_util.h). */
#include "data_util.h"

#include "loupe/core.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

int du_file_size(const char *op, const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set("%s: cannot open '%s': %s", op, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set("%s: '%s' is not a regular file", op, path);
    *size = (uint64_t)st.st_size;
    return 0;
}

float du_f64_to_f32(double v)
{
    if (isnan(v))
        return NAN;
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}
