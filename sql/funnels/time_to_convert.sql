-- Time to convert (spec funnels.md §4.2): per actor who reached the `to` step, the sum of its
-- average step times from `from` + 1 to `to`; bins of equal width over [floor(min), ceil(max)].
SELECT
    low,
    width,
    bins,
    arrayMap(k -> toUInt64(arrayCount(v -> low + intDiv(toInt64(floor(v - low)), width) * width = low + k * width, samples)), range(bins + 1)) AS counts,
    samples,  -- summed in Python exactly (math.fsum): the rounded mean must not hang on order
    length(samples) AS samples_count
FROM
(
    SELECT
        samples,
        if(length(samples) = 0, 0, toInt64(floor(arrayMin(samples)))) AS low,
        if(length(samples) = 0, 1, toInt64(ceil(arrayMax(samples)))) AS high,
        toInt64(if({bin_count:Int64} > 0, least(90, greatest(1, {bin_count:Int64})),
            least(60, greatest(1, arrayFirst(k -> k * k * k >= length(samples), range(0, 100)))))) AS bins,
        if(intDiv(high - low + bins - 1, bins) = 0, 60, intDiv(high - low + bins - 1, bins)) AS width
    FROM
    (
        SELECT groupArray(arraySum(v -> ifNull(v, 0), arraySlice(averages, {from_step:UInt32} + 1,
                                              {to_step:UInt32} - {from_step:UInt32}))) AS samples
        FROM (__ACTORS__)
        WHERE furthest >= {to_step:UInt32} + 1
    )
)
