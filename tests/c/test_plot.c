/* test_plot.c — the C side of figures: colour maps (lookup, scaling) and canvases (formats,
 * pixels, saving, error paths), without Lua. */
#include "check.h"

#include "loupe/colormap.h"
#include "loupe/plot.h"

#include <unistd.h>

static void test_cmap_lookup(void **state)
{
    (void)state;
    struct cmap m;
    float rgb[3];
    assert_int_equal(cmap_find("viridis", &m, "t"), 0);
    cmap_color(&m, 0, rgb);
    assert_float_equal(rgb[0], 0.267004f, 1e-7);
    cmap_color(&m, 1, rgb);
    assert_float_equal(rgb[2], 0.143936f, 1e-7);
    assert_int_equal(cmap_find("RdBu_r", &m, "t"), 0);
    assert_true(m.reversed);
    cmap_color(&m, 0, rgb); /* reversed: low end is blue */
    assert_float_equal(rgb[2], 97 / 255.0f, 1e-7);
    cmap_color(&m, NAN, rgb);
    assert_float_equal(rgb[1], 0.5f, 0);
    assert_int_equal(cmap_find("hot", &m, "who"), -1);
    assert_err_contains("who: unknown colormap 'hot'");
}

static void test_cmap_limits(void **state)
{
    (void)state;
    struct cmap m;
    const float v[4] = {-1, 4, NAN, INFINITY};
    double lo, hi;
    cmap_find("RdBu", &m, "t");
    struct cmap_scale s = {0};
    cmap_limits(&m, &s, v, 4, &lo, &hi); /* diverging: symmetric about 0, finite values */
    assert_float_equal(lo, -4, 0);
    assert_float_equal(hi, 4, 0);
    s.auto_range = true;
    cmap_limits(&m, &s, v, 4, &lo, &hi);
    assert_float_equal(lo, -1, 0);
    assert_float_equal(hi, 4, 0);
    assert_float_equal(cmap_position(&m, 3, 2, 2), 0.5, 0); /* equal limits: the middle */
    cmap_limits(&m, &s, v, 0, &lo, &hi);                  /* no data: [0, 1] */
    assert_float_equal(lo, 0, 0);
    assert_float_equal(hi, 1, 0);
}

static void test_canvas(void **state)
{
    (void)state;
    enum plot_format f;
    assert_int_equal(plot_format_of("a/b.SVG", "t", &f), 0);
    assert_int_equal(f, PLOT_SVG);
    assert_int_equal(plot_format_of("a.png/b", "who", &f), -1);
    assert_err_contains("who: cannot tell the format of 'a.png/b'");
    assert_null(plot_canvas_new(PLOT_PNG, 0, 10, 1));
    assert_err_contains("canvas size");

    struct plot_canvas *c = plot_canvas_new(PLOT_PNG, 20, 10, 2);
    assert_non_null(c);
    plot_set_color(c, 1, 0, 0, 1);
    plot_rect(c, 0, 0, 5, 5, true);
    struct tensor *px = plot_canvas_pixels(c);
    assert_int_equal(px->shape[1], 20); /* scale 2 */
    assert_int_equal(px->shape[2], 40);
    assert_float_equal(tensor_f32(px)[0], 1, 0);                  /* red corner */
    assert_float_equal(tensor_f32(px)[800 + 0], 0, 0);            /* green plane */
    assert_float_equal(tensor_f32(px)[799], 1, 0);                /* white elsewhere */
    tensor_release(px);
    assert_int_equal(plot_canvas_save(c, "/nonexistent-dir/x.png"), -1);
    assert_err_contains("plot.save: cannot create a temporary file next to "
                        "'/nonexistent-dir/x.png'");
    plot_canvas_free(c);

    c = plot_canvas_new(PLOT_PDF, 20, 10, 1);
    assert_null(plot_canvas_pixels(c));
    assert_err_contains("only PNG canvases have pixels");
    char path[] = "/tmp/loupe_test_plot_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(plot_canvas_save(c, path), 0);
    assert_int_equal(plot_canvas_save(c, path), -1);
    assert_err_contains("already saved");
    FILE *fp = fopen(path, "rb");
    char head[5] = {0};
    assert_int_equal(fread(head, 1, 4, fp), 4);
    fclose(fp);
    assert_string_equal(head, "%PDF");
    unlink(path);
    plot_canvas_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmap_lookup),
        cmocka_unit_test(test_cmap_limits),
        cmocka_unit_test(test_canvas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
