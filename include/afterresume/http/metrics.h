/* metrics.h — request counters, latency histograms and gauges, rendered in Prometheus text format. */
#ifndef AFTERRESUME_HTTP_METRICS_H
#define AFTERRESUME_HTTP_METRICS_H
#include <stddef.h>

#include "afterresume/core/buf.h"

/* Call once before serving; route labels come from the route table (index = position in ar_routes). */
void ar_metrics_init(void);
void ar_metrics_request_started(void);
/* route_index -1 = no route matched (labelled "unmatched"). */
void ar_metrics_request_finished(int route_index, const char *method, int status, double seconds);
long ar_metrics_in_flight(void);
void ar_metrics_render(ar_buf *out);
void ar_metrics_free(void);

#endif
