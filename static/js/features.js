// features.js — small behaviours of the feature pages (no inline script: the CSP forbids it), one section per
// area in this order; each section only acts on pages that contain its elements. Shared behaviour is in app.js.
'use strict';

// == worklog ==

// == evidence ==

// == import / export ==

// == jobs ==

// == billing ==

// == career material ==
