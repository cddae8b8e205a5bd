-- The legacy SQL functions (contract/NOTES.md §6, §10, §14), rewritten for samsyn with the
-- legacy signatures, attributes and observable semantics. Idempotent (CREATE OR REPLACE), like
-- the legacy `create_martin_functions` / `update_source_stats --create-function`.
-- Tables are schema-qualified; PostGIS types and functions are not (PostGIS may live in another
-- schema than public): like the legacy, callers need PostGIS on their search_path.


-- Web Mercator envelope of tile z/x/y, transformed to `srid` unless it is 3857.
-- Pure arithmetic (no range check on x/y), as the legacy.
CREATE OR REPLACE FUNCTION public.tilebbox(z integer, x integer, y integer, srid integer DEFAULT 3857)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
DECLARE
    half_world double precision := 6378137 * pi();   -- 20037508.342789244
    tile_size double precision := 2 * half_world / (2 ^ z);
    env geometry;
BEGIN
    env := ST_MakeEnvelope(
        -half_world + x * tile_size,        -- west
        half_world - (y + 1) * tile_size,   -- south
        -half_world + (x + 1) * tile_size,  -- east
        half_world - y * tile_size,         -- north
        3857);
    IF srid = 3857 THEN
        RETURN env;
    END IF;
    RETURN ST_Transform(env, srid);
END
$fn$;


-- Martin "function source": one Mapbox Vector Tile (layer `layer`, geometry column `geom`,
-- extent 4096, buffer 64) with the geometries of source `query_params->>'source_id'` and their
-- `metadata` as the only attribute.
CREATE OR REPLACE FUNCTION public.mvt_tile(z integer, x integer, y integer, query_params json)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
DECLARE
    tile_env geometry := public.tilebbox(z, x, y, 3857);
    -- the 64/4096 buffer, so that the bbox prefilter keeps what ST_AsMVTGeom keeps
    search_env geometry := ST_Transform(
        ST_Expand(tile_env, (ST_XMax(tile_env) - ST_XMin(tile_env)) * 64.0 / 4096.0), 4326);
    tile bytea;
BEGIN
    SELECT ST_AsMVT(t, 'layer', 4096, 'geom')
      INTO tile
      FROM (
        SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), tile_env, 4096, 64, true) AS geom,
               g.metadata
          FROM public.core_geometry AS g
         WHERE g.source_id = (query_params ->> 'source_id')::integer
           AND g.geom && search_env
      ) AS t
     WHERE t.geom IS NOT NULL;
    RETURN tile;
END
$fn$;


-- The GeoJSON FeatureCollection of one source (NOTES.md §6): features of `source_idq`,
-- intersecting the EPSG:4326 envelope `minx,miny,maxx,maxy` when `bbox` is given, at most
-- `feature_limit`, database order. Like the legacy: bbox numbers are parsed with
-- split_part(...)::float (spaces, exponents, NaN/Infinity accepted, a 5th number ignored), the
-- properties are `metadata || {geometry_type, source_id}`, and `features` is NULL when nothing
-- matches. Unlike the legacy, a NULL bbox works (all features of the source, up to the limit):
-- the legacy bound LIMIT to the bbox parameter there and always failed.
CREATE OR REPLACE FUNCTION public.generate_geojson_feature_collection_v3(
    source_idq integer, bbox text DEFAULT NULL::text, feature_limit integer DEFAULT 10000)
RETURNS json
LANGUAGE plpgsql
AS $fn$
DECLARE
    envelope geometry;
    features json;
BEGIN
    IF bbox IS NULL THEN
        SELECT json_agg(f.feature) INTO features
          FROM (SELECT json_build_object(
                           'type', 'Feature',
                           'id', g.gid,
                           'geometry', ST_AsGeoJSON(g.geom)::json,
                           'properties', g.metadata || jsonb_build_object(
                               'geometry_type', g.geometry_type,
                               'source_id', g.source_id)) AS feature
                  FROM public.core_geometry AS g
                 WHERE g.source_id = source_idq
                 LIMIT feature_limit) AS f;
    ELSE
        envelope := ST_MakeEnvelope(split_part(bbox, ',', 1)::float,
                                    split_part(bbox, ',', 2)::float,
                                    split_part(bbox, ',', 3)::float,
                                    split_part(bbox, ',', 4)::float,
                                    4326);
        SELECT json_agg(f.feature) INTO features
          FROM (SELECT json_build_object(
                           'type', 'Feature',
                           'id', g.gid,
                           'geometry', ST_AsGeoJSON(g.geom)::json,
                           'properties', g.metadata || jsonb_build_object(
                               'geometry_type', g.geometry_type,
                               'source_id', g.source_id)) AS feature
                  FROM public.core_geometry AS g
                 WHERE g.source_id = source_idq
                   AND ST_Intersects(g.geom, envelope)
                 LIMIT feature_limit) AS f;
    END IF;
    RETURN json_build_object('type', 'FeatureCollection', 'features', features);
END
$fn$;


-- x/y numbers of the slippy-map tile holding the WGS84 point (lat, lon) at zoom z.
CREATE OR REPLACE FUNCTION public.get_tile_coords(lat double precision, lon double precision, z integer)
RETURNS TABLE(x integer, y integer)
LANGUAGE plpgsql
AS $fn$
DECLARE
    n double precision := 2 ^ z;
    phi double precision := radians(lat);
BEGIN
    RETURN QUERY SELECT
        floor((lon + 180.0) / 360.0 * n)::integer,
        floor((1.0 - ln(tan(phi) + 1.0 / cos(phi)) / pi()) / 2.0 * n)::integer;
END
$fn$;


-- Recompute core_source.attributes from the metadata of the source's geometries (NOTES.md §10):
-- a key with at least one value matching ^-?\d+(\.\d+)?$ is numeric -> {dtype: numeric, min, max}
-- when every value casts, else {dtype: object}; any other key -> {dtype: object, values: [the
-- distinct values in database order]} below 500 distinct values, else {dtype: object}.
-- Like the legacy, a source without geometries raises "FOREACH expression must not be null" and
-- leaves the attributes unchanged.
CREATE OR REPLACE FUNCTION public.update_source_attributes(source_id_param integer)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    keys text[];
    k text;
    stats jsonb := '{}'::jsonb;
    numeric_like bigint;
    distinct_count bigint;
    lo numeric;
    hi numeric;
    distinct_values jsonb;
BEGIN
    SELECT array_agg(DISTINCT e.key)
      INTO keys
      FROM public.core_geometry AS g
     CROSS JOIN LATERAL jsonb_each(g.metadata) AS e
     WHERE g.source_id = source_id_param;

    FOREACH k IN ARRAY keys LOOP
        BEGIN
            SELECT count(*) FILTER (WHERE (g.metadata ->> k) ~ '^-?\d+(\.\d+)?$'),
                   count(DISTINCT g.metadata ->> k)
              INTO numeric_like, distinct_count
              FROM public.core_geometry AS g
             WHERE g.source_id = source_id_param;

            IF numeric_like > 0 THEN
                SELECT min((g.metadata ->> k)::numeric), max((g.metadata ->> k)::numeric)
                  INTO lo, hi
                  FROM public.core_geometry AS g
                 WHERE g.source_id = source_id_param;
                stats := stats || jsonb_build_object(
                    k, jsonb_build_object('dtype', 'numeric', 'min', lo, 'max', hi));
            ELSIF distinct_count < 500 THEN
                SELECT jsonb_agg(DISTINCT g.metadata ->> k)
                  INTO distinct_values
                  FROM public.core_geometry AS g
                 WHERE g.source_id = source_id_param;
                stats := stats || jsonb_build_object(
                    k, jsonb_build_object('dtype', 'object', 'values', distinct_values));
            ELSE
                stats := stats || jsonb_build_object(k, jsonb_build_object('dtype', 'object'));
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- e.g. "" or "x" among numeric-looking values: the cast fails
            stats := stats || jsonb_build_object(k, jsonb_build_object('dtype', 'object'));
        END;
    END LOOP;

    UPDATE public.core_source SET attributes = stats WHERE id = source_id_param;
END
$fn$;
