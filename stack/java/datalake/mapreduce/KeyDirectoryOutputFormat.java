package datalake.mapreduce;

import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.lib.MultipleTextOutputFormat;

/**
 * Splits one Hadoop Streaming job's output into one sub-directory per output key.
 *
 * <p>Hadoop Streaming has a single output. The {@code curate} job must write two datasets in one
 * pass over the raw zone (the curated records and the quarantined lines), so its reducer emits
 * {@code curated\t<json>} or {@code quarantine\t<json>}: this format writes the value to
 * {@code <output>/<key>/part-NNNNN} and drops the key, so each sub-directory holds plain JSON lines.
 *
 * <p>Keys come from our own reducer; anything else than a plain directory name is refused, so a
 * bug can never write outside the job's output directory.
 */
public class KeyDirectoryOutputFormat extends MultipleTextOutputFormat<Text, Text> {

    @Override
    protected String generateFileNameForKeyValue(Text key, Text value, String name) {
        String directory = key.toString();
        if (directory.isEmpty() || !directory.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException(
                "KeyDirectoryOutputFormat: output key must be a plain directory name, got '"
                + (directory.length() > 80 ? directory.substring(0, 80) + "..." : directory) + "'");
        }
        return directory + "/" + name;
    }

    @Override
    protected Text generateActualKey(Text key, Text value) {
        return null;  // TextOutputFormat then writes the value alone, without a tab
    }
}
