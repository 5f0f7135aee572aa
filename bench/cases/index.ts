// Every bench case file; import a new one here. Order = row order in the table.
import './roofline.js';
import './matmul.js';
import './elementwise.js';
import './conv.js';
import './nfnet-ops.js';
import './norm.js';
import './step.js';
import './step-efficientnet.js';
import './step-resnet.js';
import './step-vit.js';
import './lab.js';
import './small-net.js';
import './transformer.js';
