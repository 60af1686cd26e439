// Test 3 with the GStreamer teacher: `classrelay-client teach --test --simulcast` (three x264enc
// layers of one test source, rid h/m/l) -> relay -> a Chromium classroom page switching
// h -> l -> h. The checks are layers.mjs's.
process.env.CR_LAYERS_PUBLISHER = 'gst';
await import('./layers.mjs');
