package datalake.mapreduce;

import java.io.IOException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.FileSplit;
import org.apache.hadoop.mapred.InputSplit;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.LineRecordReader;
import org.apache.hadoop.mapred.RecordReader;
import org.apache.hadoop.mapred.Reporter;
import org.apache.hadoop.mapred.lib.CombineFileInputFormat;
import org.apache.hadoop.mapred.lib.CombineFileRecordReader;
import org.apache.hadoop.mapred.lib.CombineFileSplit;

/**
 * Reads many small files in one map task: each record is one line, keyed by the path of its file.
 *
 * <p>The raw zone holds a day as many small gzip parts (one per collector flush and instance), and
 * gzip cannot be split, so the plain text input format starts one map task, one container and one
 * Python process per part: on YARN a 100,000-status day spent most of its curate job waiting for
 * containers. This format packs whole files into splits of at most
 * {@code mapreduce.input.fileinputformat.split.maxsize} bytes (the pipeline sets it), so the number
 * of map tasks follows the size of the day, not the number of parts.
 *
 * <p>A combined split has no single input file, so Hadoop Streaming cannot tell the mapper which
 * file a line came from ({@code mapreduce.map.input.file}); the curate mapper needs it (the
 * instance domain is in the path). The key carries it instead: Streaming writes
 * {@code <path>\t<line>} to the mapper. A path never holds a tab, so the first tab ends it.
 * Lines are decompressed by {@link LineRecordReader} (any codec Hadoop knows by the suffix).
 */
public class PathLineCombineInputFormat extends CombineFileInputFormat<Text, Text> {

    @Override
    protected boolean isSplitable(FileSystem fs, Path file) {
        return false;  // whole files only: a gzip part is read from its first byte
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public RecordReader<Text, Text> getRecordReader(InputSplit split, JobConf job, Reporter reporter)
            throws IOException {
        reporter.setStatus(split.toString());
        return new CombineFileRecordReader<Text, Text>(job, (CombineFileSplit) split, reporter,
                                                       (Class) PathLineReader.class);
    }

    /** The lines of one file of a combined split, each keyed by the file's path. */
    public static class PathLineReader implements RecordReader<Text, Text> {
        private final LineRecordReader lines;
        private final Text path;
        private final LongWritable offset = new LongWritable();
        private final Text line = new Text();

        public PathLineReader(CombineFileSplit split, Configuration conf, Reporter reporter, Integer index)
                throws IOException {
            Path file = split.getPath(index);
            lines = new LineRecordReader(conf, new FileSplit(file, split.getOffset(index),
                                                             split.getLength(index), (String[]) null));
            path = new Text(file.toString());
        }

        @Override
        public boolean next(Text key, Text value) throws IOException {
            if (!lines.next(offset, line)) {
                return false;
            }
            key.set(path);
            value.set(line);
            return true;
        }

        @Override
        public Text createKey() {
            return new Text();
        }

        @Override
        public Text createValue() {
            return new Text();
        }

        @Override
        public long getPos() throws IOException {
            return lines.getPos();
        }

        @Override
        public float getProgress() throws IOException {
            return lines.getProgress();
        }

        @Override
        public void close() throws IOException {
            lines.close();
        }
    }
}
