/* colormap_tables.h — colour tables (RGB in [0, 1]) defined in colormap_tables.c. */
#ifndef LOUPE_PLOT_COLORMAP_TABLES_H
#define LOUPE_PLOT_COLORMAP_TABLES_H

extern const float cmap_viridis[256][3];
extern const float cmap_rdbu[11][3];
extern const float cmap_blues[9][3];
extern const float cmap_gray[2][3];
extern const float cmap_tab10[10][3];
extern const float cmap_tab20[20][3];

#endif
