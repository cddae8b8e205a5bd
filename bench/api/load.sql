INSERT INTO core_source (sid, name, description, source_type, attributes)
SELECT 'perf-' || lpad(i::text, 3, '0'), 'Perf source ' || lpad(i::text, 3, '0'), 'Performance source number ' || i,
       (ARRAY['vector','raster','csv','geojson'])[1 + i % 4], jsonb_build_object('idx', i, 'tags', jsonb_build_array('a', 'b'))
FROM generate_series(1, 100) AS i;
INSERT INTO core_geometry (geom, metadata, geometry_type, source_id)
SELECT ST_SetSRID(ST_MakePoint((i % 100) * 0.1, (i / 100) * 0.1), 4326),
       jsonb_build_object('name', 'pt-' || i, 'value', i, 'category', (ARRAY['a','b','c'])[1 + i % 3]), 'Point', 1
FROM generate_series(0, 9999) AS i;
INSERT INTO core_layer (lid, name, source_id, attributes, style)
SELECT 'perf-layer-' || lpad(j::text, 3, '0'), 'Perf layer ' || lpad(j::text, 3, '0'), j,
       jsonb_build_object('field', 'value'), jsonb_build_object('fill-color', '#3388ff', 'opacity', 0.5)
FROM generate_series(1, 100) AS j;
INSERT INTO core_project (pid, name, description, project_type)
SELECT 'perf-project-' || lpad(p::text, 2, '0'), 'Perf project ' || lpad(p::text, 2, '0'), 'Project with 4 layers', 'map'
FROM generate_series(1, 25) AS p;
INSERT INTO core_project_layers (project_id, layer_id)
SELECT p, (p - 1) * 4 + k FROM generate_series(1, 25) AS p, generate_series(1, 4) AS k;
VACUUM ANALYZE;
