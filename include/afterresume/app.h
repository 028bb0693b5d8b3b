/* app.h — the process-wide application state built once at start-up and read-only afterwards. */
#ifndef AFTERRESUME_APP_H
#define AFTERRESUME_APP_H
#include "afterresume/core/config.h"

struct ar_templates;

#define AR_VERSION "0.3.0"

typedef struct ar_app {
    ar_config cfg;
    struct ar_templates *templates;
    char static_root[4096];   /* realpath of cfg.static_dir */
} ar_app;

#endif
