-- Read the file with ClickHouse's own input format into a staging table, untyped: every
-- column as text, so a bad row is a row to reject with a reason, not a failed import.
INSERT INTO {staging}
SELECT
    rowNumberInAllBlocks() + 1 AS line,
    toString(event), toString(distinct_id), toString(timestamp), toString(properties),
    toString(uuid), toString(elements_chain)
FROM file({path:String}, {format},
          'event Nullable(String), distinct_id Nullable(String), timestamp Nullable(String),
           properties Nullable(String), uuid Nullable(String), elements_chain Nullable(String)')
SETTINGS input_format_json_read_objects_as_strings = 1,
         input_format_json_read_numbers_as_strings = 1,
         input_format_skip_unknown_fields = 1,
         input_format_allow_errors_num = 0,
         input_format_csv_empty_as_default = 1
