import { runGenerator } from '../../mixin/dashboards/generate.js';
import { renderKubernetesFiles } from './generate.js';

runGenerator('kubernetes', renderKubernetesFiles(process.cwd()), process.argv.slice(2));
